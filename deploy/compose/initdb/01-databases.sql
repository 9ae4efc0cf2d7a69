-- Run once by the postgres image, on an empty data volume: one database per service, because services
-- never share tables (each migrates its own database at start). The owner is POSTGRES_USER.
CREATE DATABASE firstcall_router;
CREATE DATABASE firstcall_knowledge;
CREATE DATABASE firstcall_notifier;
CREATE DATABASE firstcall_helpdesk;
