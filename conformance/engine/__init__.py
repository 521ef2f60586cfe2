"""Running a night: the schemathesis bridge, the session, lifecycle and list walks."""
