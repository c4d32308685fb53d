"""A minimal Celery app for trying statusd's celery check.

    python3 -m celery -A tasks worker -n default@%h --pool=solo

BROKER picks the broker (default: the local RabbitMQ).
"""
import os

from celery import Celery

app = Celery("tasks", broker=os.environ.get("BROKER", "amqp://guest:guest@127.0.0.1:5672//"))


@app.task
def add(x, y):
    return x + y
