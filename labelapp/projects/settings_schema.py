"""The schema of `Project.settings`: sampling, training, streaming and production rules.

Stored as JSON so later features add keys without a migration; every write goes through
`ProjectSettingsSerializer`, which rejects unknown keys and fills defaults.
"""

import copy
import functools

from rest_framework import serializers

from labelapp.learning.strategies.registry import STRATEGIES

#: The default: typical, covering picks on the pretrained embeddings while the model is weak,
#: uncertainty plus diversity once it is not (labelapp.training.planning); without a backbone,
#: margin / detection uncertainty with k-means diversity.
ADAPTIVE = "adaptive"
#: The adaptive planner, then the engine's own strategies: the registry is the one list.
STRATEGY_CHOICES = [ADAPTIVE, *STRATEGIES]


def strategies_for(task_type: str) -> list[str]:
    """The strategies that can rank a pool of this task type, the default first."""
    return [ADAPTIVE, *(name for name, (task, _) in STRATEGIES.items() if task in ("any", task_type))]


# Upper bounds (issue 14 item 5): past them a timedelta or a counter overflows, and no real
# project needs more than a year of hold or affirmation window or counts over a billion.
MAX_WINDOW_HOURS = 24 * 366
MAX_COUNT = 1_000_000_000


def default_strategy(task_type: str) -> str:
    """The adaptive planner for every task type (README: performance figures)."""
    return ADAPTIVE


class CollectionRuleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["random_1_in_n", "low_confidence", "verification_sample"])
    n = serializers.IntegerField(
        min_value=1, max_value=MAX_COUNT, required=False, help_text="random_1_in_n / verification_sample: keep 1 in n."
    )
    threshold = serializers.FloatField(
        min_value=0, max_value=1, required=False, help_text="low_confidence: keep under this confidence."
    )
    epsilon = serializers.FloatField(
        min_value=0,
        max_value=1,
        required=False,
        help_text="detection: keep when a box is within epsilon of the detection threshold.",
    )
    per_hour = serializers.IntegerField(
        min_value=0,
        max_value=MAX_COUNT,
        required=False,
        allow_null=True,
        help_text="At most this many images kept per hour; empty = no quota.",
    )
    per_day = serializers.IntegerField(
        min_value=0,
        max_value=MAX_COUNT,
        required=False,
        allow_null=True,
        help_text="At most this many images kept per day; empty = no quota.",
    )


class ProjectSettingsSerializer(serializers.Serializer):
    strategy = serializers.ChoiceField(
        choices=STRATEGY_CHOICES,
        required=False,
        help_text="Which pool images the queue hands out first. adaptive (the default) covers the data while the "
        "model is weak, then asks where it is unsure; random is the baseline.",
    )
    batch_diversity = serializers.BooleanField(
        default=True, help_text="Spread the top of the queue over different-looking images instead of near-copies."
    )
    weak_class_weighting = serializers.BooleanField(
        default=True, help_text="Rank images of classes the model does worst on a little higher."
    )
    auto_retrain_every = serializers.IntegerField(
        min_value=0, max_value=MAX_COUNT, default=20, help_text="Retrain after this many new labels; 0 = never."
    )
    lease_minutes = serializers.IntegerField(
        min_value=1,
        max_value=24 * 60,
        default=10,
        help_text="How long an annotator holds an image (and its credit) before it goes back to the queue.",
    )
    evaluation_share = serializers.FloatField(
        min_value=0,
        max_value=0.5,
        default=0.125,
        help_text="Share of queue hand-outs that are a uniformly random pool image, labeled for val/test so that "
        "metrics are unbiased; every other hand-out is a strategy pick and trains. 0 = none.",
    )
    val_fraction = serializers.FloatField(
        min_value=0,
        max_value=0.5,
        default=0.15,
        help_text="Imported labels: share that goes to val (by content hash). Evaluation picks divide between val "
        "and test in the ratio val_fraction : test_fraction.",
    )
    test_fraction = serializers.FloatField(
        min_value=0,
        max_value=0.5,
        default=0.15,
        help_text="Imported labels: share that goes to test (see val_fraction).",
    )
    model = serializers.CharField(
        max_length=60, required=False, help_text="A registered model name; default by task type."
    )
    finetune = serializers.ChoiceField(
        choices=["auto", "off"],
        default="auto",
        help_text="Classification on the pretrained backbone: auto = once every class has enough training labels, "
        "also fine-tune the backbone's last blocks and activate that model only if it beats the embedding "
        "head on the validation sample by more than noise; off = the head only.",
    )
    input_size = serializers.IntegerField(
        min_value=32,
        max_value=512,
        required=False,
        help_text="Side of the square the model sees, in pixels; default by model.",
    )
    detection_threshold = serializers.FloatField(
        min_value=0.01, max_value=0.99, default=0.3, help_text="Boxes under this confidence are not reported."
    )
    max_epochs = serializers.IntegerField(
        min_value=1,
        max_value=500,
        default=30,
        help_text="Upper bound per training; early stopping usually ends sooner.",
    )
    stream_mode = serializers.ChoiceField(
        choices=["threshold", "pacing"],
        default="pacing",
        help_text="threshold: query every image under the stream threshold; pacing: move the threshold so the budget lasts for the expected stream.",
    )
    stream_threshold = serializers.FloatField(
        min_value=0,
        max_value=1,
        default=0.5,
        help_text="Stream images under this confidence are queried (sent to annotators).",
    )
    stream_hard_cap = serializers.IntegerField(
        min_value=0,
        max_value=MAX_COUNT,
        required=False,
        allow_null=True,
        help_text="At most this many stream queries in all; empty = only the budget limits them.",
    )
    stream_expected_items = serializers.IntegerField(
        min_value=1,
        max_value=MAX_COUNT,
        default=10000,
        help_text="How many images the stream is expected to bring (pacing spreads the budget over them).",
    )
    stream_exploration = serializers.FloatField(
        min_value=0,
        max_value=1,
        default=0.02,
        help_text="Share of confident stream images queried anyway, to catch confident mistakes.",
    )
    train_on_auto_labels = serializers.BooleanField(
        default=False,
        help_text="Also train on stream-accepted images, with the model's own output as the label (train split only).",
    )
    held_credit_hours = serializers.FloatField(
        min_value=0.01,
        max_value=MAX_WINDOW_HOURS,
        default=72,
        help_text="A credit held for a stream-queried or synthetic image that no annotator has taken after this many hours goes back to the budget.",
    )
    collection_rules = CollectionRuleSerializer(
        many=True,
        default=list,
        max_length=100,
        help_text="Which production images the prediction API keeps for labeling.",
    )
    affirmation_enabled = serializers.BooleanField(
        default=False, help_text="Count predictions nobody flags within the window as affirmed labels."
    )
    affirmation_window_hours = serializers.FloatField(
        min_value=0,
        max_value=MAX_WINDOW_HOURS,
        default=72,
        help_text="How long a prediction may be flagged before it counts as affirmed.",
    )
    review_mode = serializers.ChoiceField(
        choices=["all", "share", "suspects"],
        default="all",
        help_text="Which labels go to the review queue: every one, a random share (review_share), or suspected errors only.",
    )
    review_share = serializers.FloatField(
        min_value=0, max_value=1, default=0.2, help_text="review_mode share: the share of labels reviewed."
    )
    suspect_threshold = serializers.FloatField(
        min_value=0,
        max_value=1,
        default=0.5,
        help_text="A label whose suspicion score reaches this is a suspected error.",
    )
    gold_rate = serializers.FloatField(
        min_value=0,
        max_value=1,
        default=0.0,
        help_text="Share of queue hand-outs that are gold items (scored, no credit spent) while an annotator has "
        "some left to see; 1 = every gold item first (a qualification round).",
    )
    consensus_share = serializers.FloatField(
        min_value=0,
        max_value=1,
        default=0.0,
        help_text="Share of newly labeled images a second annotator labels again, blind (one more credit each); "
        "a disagreement goes to the review queue whatever review_mode says. 0 = off.",
    )

    def validate_model(self, value):
        from labelapp.learning.models import available_models

        if value not in available_models():
            raise serializers.ValidationError(f"Unknown model; registered: {', '.join(available_models())}.")
        return value

    def validate(self, attrs):
        if attrs.get("val_fraction", 0.15) + attrs.get("test_fraction", 0.15) >= 0.9:
            raise serializers.ValidationError("val_fraction + test_fraction must leave room for training (< 0.9).")
        return attrs

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(dict.fromkeys(unknown, "Unknown setting."))
        return super().to_internal_value(data)


def validate_settings(raw: dict, *, task_type: str) -> dict:
    serializer = ProjectSettingsSerializer(data=raw)
    serializer.is_valid(raise_exception=True)
    strategy = serializer.validated_data.get("strategy")
    # A strategy of the other task type would fail every re-scoring of the pool.
    if strategy is not None and strategy not in strategies_for(task_type):
        raise serializers.ValidationError(
            {
                "strategy": [
                    f"{strategy!r} does not fit a {task_type} project; choose from {', '.join(strategies_for(task_type))}."
                ]
            }
        )
    return serializer.validated_data


@functools.cache
def _defaults() -> dict:
    serializer = ProjectSettingsSerializer(data={})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def settings_with_defaults(raw: dict) -> dict:
    """Stored settings (validated when written) over the defaults. On the queue's hot path,
    so no re-validation: building a DRF serializer costs milliseconds."""
    return copy.deepcopy({**_defaults(), **(raw or {})})
