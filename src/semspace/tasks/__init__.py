"""Tasks: one per method, all trained by the same engine (``create_task`` registers them on first use)."""

from semspace.tasks.base import Task as Task
from semspace.tasks.base import TaskCfg as TaskCfg
from semspace.tasks.registry import TASKS as TASKS
from semspace.tasks.registry import create_task as create_task
from semspace.tasks.registry import list_tasks as list_tasks
from semspace.tasks.registry import load_task as load_task

__all__ = ["TASKS", "Task", "TaskCfg", "create_task", "list_tasks", "load_task"]
