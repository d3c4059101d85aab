"""The messaging gateway: the only public door of the system (see README, "Channels")."""
