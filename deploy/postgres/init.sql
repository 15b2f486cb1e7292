-- One database per service (ARCHITECTURE §5), created on the first start of the compose
-- PostgreSQL. Kubernetes production uses a managed server: create the same databases there.
CREATE DATABASE telemetry;
CREATE DATABASE incentives;
CREATE DATABASE wallet;
CREATE DATABASE clo;
