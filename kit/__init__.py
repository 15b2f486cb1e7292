"""The shared runtime ("kit") of every Nerava service and the gateway.

Nothing service-specific lives here: server bootstrap, interceptors, auth, errors, settings,
database and unit of work, outbox, jobs, logging, metrics, clock, upstream channels.
"""
