from django.core.management.base import BaseCommand

from labelapp.demo.data import DEMO_USERS, PILLS, load_demo
from labelapp.demo.tasks import demo_production_traffic_task
from labelapp.images.models import Image, Status
from labelapp.training.preprocess import images_preprocess
from labelapp.training.runs import training_request


class Command(BaseCommand):
    help = "Create the demo users and projects (once; existing demo projects are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--porch-images", type=int, default=2000)
        parser.add_argument("--pill-images", type=int, default=300)
        parser.add_argument("--no-train", action="store_true", help="Do not queue a first training.")

    def handle(self, *args, porch_images, pill_images, no_train, **options):
        projects = load_demo(progress=self.stdout.write, porch_images=porch_images, pill_images=pill_images)
        for project in projects:
            pool = list(Image.objects.filter(project=project, status=Status.UNLABELED).values_list("pk", flat=True))
            images_preprocess(project_id=project.pk, image_ids=pool)
            if not no_train:
                training_request(project=project, trigger="demo")
                if project.name == PILLS:
                    # Verifiers get predictions to verify once the first model is trained.
                    demo_production_traffic_task.delay(project.pk)
            self.stdout.write(f"created {project.name!r} (id {project.pk})")
        if not projects:
            self.stdout.write("demo projects already exist; nothing to do")
        for username, (password, role) in DEMO_USERS.items():
            self.stdout.write(f"  login: {username} / {password}  ({role})")
