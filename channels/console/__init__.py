"""The operator console: routes.py (HTTP and sign-in), pages.py with templates/ (the HTML),
operators.py (adding operators, for ``rights operator add``), static/console.css."""
