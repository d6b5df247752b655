-- One database per service: no service reads another's tables.
CREATE DATABASE booking;
CREATE DATABASE eligibility;
CREATE DATABASE reminders;
