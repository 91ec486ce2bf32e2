"""E-mail over SMTP: the mail server to use (`target`), the message an outbox row becomes
(`message`), the SMTP connection of a batch (`session`), and the outbox sender (`outbox`)."""
