"""The admin checklist behind `mailroom doctor` (the guide's part 三): DNS sender authentication, rights,
audit and archive, migration completeness, MFA and login reminders. Each check yields `Check` rows."""
