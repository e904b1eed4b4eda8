"""Load test: `make loadtest-seed` fills the database; `make loadtest` runs locust on the API."""
