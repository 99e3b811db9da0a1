from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from . import services
from .models import ApiToken, User


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "is_staff"]


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=200, style={"input_type": "password"}, trim_whitespace=False)


class ApiTokenOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]


class ApiTokenCreatedOutputSerializer(ApiTokenOutputSerializer):
    key = serializers.CharField(help_text="Shown once: store it now.")

    class Meta(ApiTokenOutputSerializer.Meta):
        fields = [*ApiTokenOutputSerializer.Meta.fields, "key"]


class ApiTokenCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


@method_decorator(ensure_csrf_cookie, name="get")
class CsrfView(APIView):
    """Sets the csrftoken cookie the browser sends back as X-CSRFToken on writes."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses=inline_serializer("CsrfOutput", {"csrf_token": serializers.CharField()}))
    def get(self, request):
        return Response({"csrf_token": get_token(request)})


class LoginView(APIView):
    """Session login. CSRF-checked even though the caller is anonymous, so another site
    cannot sign a browser into an attacker's account (login CSRF)."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=LoginInputSerializer, responses=UserOutputSerializer)
    def post(self, request):
        SessionAuthentication().enforce_csrf(request._request)
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            return Response(
                {"detail": "Wrong username or password.", "code": "bad_credentials"}, status=status.HTTP_400_BAD_REQUEST
            )
        login(request, user)
        return Response(UserOutputSerializer(user).data)


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=UserOutputSerializer)
    def get(self, request):
        return Response(UserOutputSerializer(request.user).data)


class TokenListCreateView(generics.ListCreateAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = ApiTokenOutputSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(request=ApiTokenCreateInputSerializer, responses={201: ApiTokenCreatedOutputSerializer})
    def post(self, request):
        data = ApiTokenCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = ApiToken.issue(user=request.user, name=data.validated_data["name"])
        return Response({**ApiTokenOutputSerializer(token).data, "key": key}, status=status.HTTP_201_CREATED)


class TokenDestroyView(generics.DestroyAPIView):
    """Revoke a token: it stops working at once."""

    permission_classes = [IsAuthenticated]
    serializer_class = ApiTokenOutputSerializer
    lookup_url_kwarg = "token_id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)


class UserAdminOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_superuser",
            "is_active",
            "date_joined",
            "last_login",
        ]


class UserCreateInputSerializer(serializers.Serializer):
    username = serializers.RegexField(
        r"^[\w.@+-]+\Z", max_length=150, error_messages={"invalid": "Letters, digits and @ . + - _ only."}
    )
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    is_staff = serializers.BooleanField(required=False, default=False, help_text="Staff manage user accounts.")


class UserUpdateInputSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(
        required=False, help_text="false deactivates: sign-in and API tokens stop working."
    )
    is_staff = serializers.BooleanField(required=False)


class InviteOutputSerializer(serializers.Serializer):
    user = UserAdminOutputSerializer()
    invite_url = serializers.CharField(help_text="Shown once: the link where the user sets a password.")
    expires_in_hours = serializers.IntegerField()


class SetPasswordInputSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=200)
    password = serializers.CharField(max_length=200, style={"input_type": "password"}, trim_whitespace=False)


def _invite_response(request, user, invite, status_code):
    from django.conf import settings

    return Response(
        {
            "user": UserAdminOutputSerializer(user).data,
            "invite_url": request.build_absolute_uri(invite.path),
            "expires_in_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        },
        status=status_code,
    )


class IsStaff(IsAuthenticated):
    message = "Only staff manage user accounts."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and (request.user.is_staff or request.user.is_superuser)


class UserListCreateView(generics.ListAPIView):
    """Every account (staff only); `?search=` matches username and names."""

    permission_classes = [IsStaff]
    serializer_class = UserAdminOutputSerializer

    def get_queryset(self):
        from django.db.models import Q

        users = User.objects.order_by("username")
        search = self.request.query_params.get("search", "").strip()
        if search:
            users = users.filter(
                Q(username__icontains=search) | Q(first_name__icontains=search) | Q(last_name__icontains=search)
            )
        return users

    @extend_schema(request=UserCreateInputSerializer, responses={201: InviteOutputSerializer})
    def post(self, request):
        data = UserCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, invite = services.user_create(actor=request.user, **data.validated_data)
        return _invite_response(request, user, invite, status.HTTP_201_CREATED)


class UserDetailView(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = UserAdminOutputSerializer
    lookup_url_kwarg = "user_id"
    queryset = User.objects.all()

    @extend_schema(request=UserUpdateInputSerializer, responses=UserAdminOutputSerializer)
    def patch(self, request, user_id):
        user = self.get_object()
        data = UserUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_update(actor=request.user, user=user, changes=dict(data.validated_data))
        return Response(UserAdminOutputSerializer(user).data)


class UserResetPasswordView(APIView):
    """The old password stops working; the answer carries a new invite link, shown once."""

    permission_classes = [IsStaff]

    @extend_schema(request=None, responses=InviteOutputSerializer)
    def post(self, request, user_id):
        from django.shortcuts import get_object_or_404

        user = get_object_or_404(User, pk=user_id)
        invite = services.user_reset_password(actor=request.user, user=user)
        return _invite_response(request, user, invite, status.HTTP_200_OK)


class SetPasswordView(APIView):
    """Redeem an invite or reset link: set the password, then sign in as usual."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=SetPasswordInputSerializer, responses={204: None})
    def post(self, request):
        SessionAuthentication().enforce_csrf(request._request)
        data = SetPasswordInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_set_password_with_token(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
