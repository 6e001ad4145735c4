"""One Dramatiq worker process on the bot's broker, configured from the environment; a test
kills it with SIGKILL mid-job."""

from bot.worker import work

if __name__ == "__main__":
    work(threads=2)
