"""Harness for the mod_tls integration tests: certificates, real apache2 servers, clients."""
