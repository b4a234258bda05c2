from .helpers import class_to_dict, get_args, set_seed, update_class_from_dict  # noqa: F401
from .task_registry import task_registry  # noqa: F401
