"""``banyan ingest``: the MQTT consumer. ``worker`` is the asynchronous shell, ``writer`` the one
thread that writes to the database, ``frigate`` the pure mapping of camera-AI events."""
