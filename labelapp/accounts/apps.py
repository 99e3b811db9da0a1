from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(using, **kwargs) -> None:
    """`migrate` also creates the database cache table that login throttling counts in
    (a no-op when it exists or when the cache is not a database cache)."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class AccountsConfig(AppConfig):
    name = "labelapp.accounts"

    def ready(self) -> None:
        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="labelapp.accounts.cache_table")
