"""No fixtures here on purpose: pytest loads this file for every suite, and the pure suites
(tests/forms, tests/sync) run with only the core's dependencies. The database, the app and its users
are fixtures of tests/api/conftest.py; shared test data is built in tests/factories.py.
"""
