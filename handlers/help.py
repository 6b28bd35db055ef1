from bot.chat.commands import REGISTRY, Request, command
from bot.core.permissions import has_role
from bot.core.reply import Reply, bullets, echo, heading


@command("help", usage="/help [command]", patterns=(r"^(?:help|帮助|\?)$",))
def help_(request: Request) -> Reply:
    """help: what Mailroom can do, or how to use one command"""
    if request.args:
        name = request.args[0].lstrip("/").lower()
        cmd = REGISTRY.get(name)
        if cmd is None:
            return Reply(command="help", text=f"No command /{echo(name)}. Try /help.", data={"commands": sorted(REGISTRY)})
        return Reply(
            command="help",
            blocks=[heading(f"/{cmd.name}: {cmd.help.partition(': ')[2] or cmd.help}"), bullets([cmd.usage])],
            data={"command": cmd.name, "usage": cmd.usage, "help": cmd.help},
        )
    usable = [c for c in REGISTRY.values() if has_role(request.person, c.min_role)]
    lines = [f"{c.usage} — {c.help.partition(': ')[2] or c.help}" for c in sorted(usable, key=lambda c: c.name)]
    return Reply(
        command="help",
        blocks=[heading("Mailroom commands"), bullets(lines)],
        data={"commands": [{"name": c.name, "usage": c.usage, "help": c.help} for c in usable]},
    )
