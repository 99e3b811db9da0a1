from celery import shared_task


@shared_task(name="labelapp.labeling.release_expired_reservations")
def release_expired_reservations_task() -> int:
    from .services import reservations_release_expired

    return reservations_release_expired()
