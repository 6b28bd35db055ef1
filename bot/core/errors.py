"""One exception tree: the CLI and the router are the only places that catch it."""


class MailroomError(Exception):
    """Base of every error Mailroom reports to a person instead of a traceback."""


class ConfigError(MailroomError):
    """The config file is missing or invalid; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class ArchiveError(MailroomError):
    """The archive cannot be opened or is not a Mailroom archive."""


class SyncError(MailroomError):
    """A mailbox could not be synchronised (login, network, TLS, missing folder)."""


class CommandError(MailroomError):
    """A chat command failed for a reason the asker should read."""

    def __init__(self, message: str, *, code: str = "failed"):
        self.code = code
        super().__init__(message)
