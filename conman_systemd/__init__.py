"""conman-systemd: containers as transient systemd services, supervised by systemd itself."""

__version__ = "0.1.0"
