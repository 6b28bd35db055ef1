"""Reports for managers: figures over a period, charts, the weekly report, the dashboard."""
