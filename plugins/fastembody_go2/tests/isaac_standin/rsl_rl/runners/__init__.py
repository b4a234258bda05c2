"""Stand-in of ``rsl_rl.runners``; FastEmbody trains with its own trainer, so the runner is not reproduced."""


class OnPolicyRunner:
    def __init__(self, *args, **kwargs):  # noqa: ANN002, ANN003
        raise NotImplementedError("stand-in: rsl_rl's OnPolicyRunner is not reproduced")
