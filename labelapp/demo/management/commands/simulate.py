"""`manage.py simulate`: play the annotators of a demo project with its kept-aside truth.

Needs a running Celery worker (`make run` starts one): every training and rescore runs
there; this command only labels and waits. See labelapp/demo/simulation.py.

    manage.py simulate                      # the porch demo, its own strategy, all credits
    manage.py simulate --strategy random    # the same on a copy, random baseline
    manage.py simulate --budget 100 --retrain-every 10 --max-epochs 10 --copy
"""

from django.core.management.base import BaseCommand, CommandError

from labelapp.core.errors import ServiceError
from labelapp.demo.data import PORCH
from labelapp.demo.simulation import curve_table, simulate
from labelapp.projects.models import Project
from labelapp.projects.settings_schema import STRATEGY_CHOICES


class Command(BaseCommand):
    help = (
        "Label a project with its kept-aside ground truth until its credits are spent, letting the Celery worker "
        "retrain and rescore after every K labels; store and print the learning curve."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", default=PORCH, help=f"Project name or id (default {PORCH!r}).")
        parser.add_argument(
            "--strategy", choices=STRATEGY_CHOICES, help="Sampling strategy; 'random' runs on a copy unless --no-copy."
        )
        parser.add_argument("--budget", type=int, help="Credits to spend (default: all available).")
        parser.add_argument("--retrain-every", type=int, help="Retrain after every K new training labels.")
        parser.add_argument("--max-epochs", type=int, help="Max epochs per training.")
        copy = parser.add_mutually_exclusive_group()
        copy.add_argument(
            "--copy",
            dest="copy",
            action="store_true",
            default=None,
            help="Run on a copy so the project stays untouched (default for --strategy random).",
        )
        copy.add_argument("--no-copy", dest="copy", action="store_false", help="Run on the project itself.")
        parser.add_argument(
            "--no-final-retrain",
            action="store_true",
            help="Do not train once more on the labels added after the last auto-retrain.",
        )
        parser.add_argument(
            "--worker-timeout",
            type=float,
            default=120.0,
            help="Seconds a queued training may wait for a worker before giving up.",
        )

    def handle(
        self,
        *args,
        project,
        strategy,
        budget,
        retrain_every,
        max_epochs,
        copy,
        no_final_retrain,
        worker_timeout,
        **options,
    ):
        source = _find_project(project)
        if budget is not None and budget < 0:
            raise CommandError("--budget must be >= 0")
        try:
            result = simulate(
                project=source,
                strategy=strategy,
                budget=budget,
                retrain_every=retrain_every,
                max_epochs=max_epochs,
                copy=copy,
                final_retrain=not no_final_retrain,
                progress=self.stdout.write,
                queued_timeout=worker_timeout,
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        curve = result.curve
        self.stdout.write(
            f"\nlearning curve ({result.strategy}, project {result.project.pk}, "
            f"{result.credits_spent} credits in {result.seconds:.0f}s, {result.skipped} skipped):"
        )
        self.stdout.write(curve_table(curve.points, curve.metric))
        where = f"project {result.project.pk}"
        if result.project.pk != result.source.pk:
            where += f" and on project {result.source.pk} ({result.source.name!r})"
        self.stdout.write(self.style.SUCCESS(f"stored as LearningCurve {curve.pk} on {where}"))


def _find_project(value: str) -> Project:
    if str(value).isdigit():
        project = Project.objects.filter(pk=int(value)).first()
    else:
        project = Project.objects.filter(name=value).order_by("id").first()
    if project is None:
        raise CommandError(f"No project {value!r}. Create the demo projects with `manage.py demo` (or `make run`).")
    return project
