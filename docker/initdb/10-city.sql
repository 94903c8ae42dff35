-- Runs once, when the `db` volume is first initialised (as POSTGRES_USER, connected to `survey`).
-- The city database is where `survey-api publish` writes clean tables for the city's pipeline.
CREATE DATABASE city;
\connect city
CREATE EXTENSION IF NOT EXISTS postgis;
