"""REST gateway: REST/JSON ↔ gRPC, driven by the ``google.api.http`` annotations in protos/."""
