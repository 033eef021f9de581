"""Local stand-ins the tests run against: a moto server, a BLS-style HTTP site, a Lambda Runtime API."""
