from .models import CreditBalance


def balance_as_dict(*, project) -> dict:
    """The project's counters; zeros before its balance row exists. Uses a prefetched
    `credit_balance` (`select_related`) when there is one."""
    try:
        balance = project.credit_balance
    except CreditBalance.DoesNotExist:
        balance = CreditBalance(project=project)
    return balance.as_dict()
