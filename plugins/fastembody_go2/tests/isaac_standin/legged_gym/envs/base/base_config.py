"""legged_gym's BaseConfig: nested config classes become instances, recursively."""
import inspect


class BaseConfig:
    def __init__(self) -> None:
        self.init_member_classes(self)

    @staticmethod
    def init_member_classes(obj: object) -> None:
        for key in dir(obj):
            if key == "__class__":
                continue
            var = getattr(obj, key)
            if inspect.isclass(var):
                instance = var()
                setattr(obj, key, instance)
                BaseConfig.init_member_classes(instance)
