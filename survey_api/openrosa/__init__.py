"""OpenRosa: the door ODK Collect, KoboCollect and Enketo use (form list, XForms, XML submissions)."""
