"""IMAP server fixtures (Dovecot when installed, else pymap)."""
