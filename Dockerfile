# One image for every Kapbook process; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements/ requirements/
COPY shared/ shared/
COPY services/ services/
RUN pip install --no-cache-dir -c requirements/constraints.txt \
      ./shared ./services/booking ./services/eligibility ./services/reminders \
 && useradd --create-home --uid 10001 kapbook

USER kapbook
ENV KAPBOOK_VAR_DIR=/home/kapbook/var
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "kapbook_booking.entrypoints.wsgi:create_app()"]
