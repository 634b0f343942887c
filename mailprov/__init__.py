"""mailprov: provisioning and DNS compliance for a multi-domain government mail platform."""

__version__ = "0.1.0"
