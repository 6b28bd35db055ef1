"""The demo factory: its config, CRM export and a generated archive of realistic mail."""
