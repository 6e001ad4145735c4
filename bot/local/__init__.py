"""What only runs on a developer's machine: the demo, its orders, the chat simulator and the
fake WeChat API. Never imported by the runtime packages.

May import anything below the command line."""
