"""Flask plumbing every service uses the same way."""
