"""returnpath: reads a return-path mailbox and records what each returned message means."""

__version__ = "0.1.0"
