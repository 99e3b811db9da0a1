/**
 * Named aliases over the generated OpenAPI types. Never edit the generated files:
 * run `npm run gen:api` and adjust the aliases here if the names change.
 *
 * schema.gen.ts         — the backend's real schema (wins whenever both have a type)
 * schema.pending.gen.ts — endpoints announced but not served yet
 */
import type { components, paths } from "./schema.gen";
import type { components as pendingComponents } from "./schema.pending.gen";

type Schemas = components["schemas"];
type Pending = pendingComponents["schemas"];

export type User = Schemas["UserOutput"];
export type Balance = Schemas["BalanceOutput"];
export type Role = Schemas["RoleEnum"];
export type TaskType = Schemas["TaskTypeEnum"];
export type Project = Schemas["ProjectOutput"];
export type ProjectSettings = Schemas["ProjectSettings"];
export type ProjectPatch = Schemas["PatchedProjectUpdateInputRequest"];
export type Strategy = Schemas["StrategyEnum"];
export type Paginated<T> = { count: number; next?: string | null; previous?: string | null; results: T[] };
export type LabelClass = Schemas["LabelClassOutput"];
export type LabelClassInput = Schemas["LabelClassInputRequest"];
export type ProjectCreateInput = Schemas["ProjectCreateInputRequest"];
export type ProjectClassInput = Schemas["ProjectClassInputRequest"];
export type CollectionRule = Schemas["CollectionRule"];
export type UserAdmin = Schemas["UserAdminOutput"];
export type UserCreateInput = Schemas["UserCreateInputRequest"];
export type UserUpdateInput = Schemas["PatchedUserUpdateInputRequest"];
export type Invite = Schemas["InviteOutput"];
export type UserCandidate = Schemas["UserCandidateOutput"];
export type Membership = Schemas["MembershipOutput"];
export type MembershipInput = Schemas["MembershipCreateInputRequest"];
export type Image = Schemas["ImageOutput"];
export type ImageUploadResult = Schemas["ImageUploadOutput"];
export type UploadDuplicatesReport = Schemas["UploadDuplicatesReport"];
export type ScoredBox = Schemas["ScoredBox"];
export type Box = Schemas["Box"];
export type QueuePrediction = Schemas["PreAnnotation"];
export type QueueNext = Schemas["QueueNextOutput"];
export type AnnotationSubmitInput = Schemas["AnnotationSubmitInputRequest"];
export type CreditGrantInput = Schemas["CreditGrantInputRequest"];
export type LedgerEntry = Schemas["CreditEntryOutput"];
export type ProjectStats = Schemas["ProjectStatsOutput"];
export type ModelVersion = Schemas["ModelVersionOutput"];
export type TrainingRun = Schemas["TrainingRunOutput"];
export type RunStatus = Schemas["RunStatusEnum"];
export type RescoreJob = Schemas["RescoreJobOutput"];
export type EngineStatus = Schemas["EngineStatus"];
export type LearningCurves = Schemas["LearningCurvesOutput"];
export type LearningCurveSeries = Schemas["LearningCurveOutput"];
export type VerificationNext = Schemas["VerificationNextOutput"];
export type SynthesisJob = Schemas["SynthesisJobOutput"];
export type VerificationInput = Schemas["VerificationRecordInputRequest"];
/** The schema types the health report as a free-form object: features/admin/health-data.ts reads it. */
export type HealthReport = paths["/api/projects/{project_id}/health/"]["get"]["responses"][200]["content"]["application/json"];

export type ApiErrorBody = Schemas["Error"];
// The schema leaves the items of Error.errors untyped; the upload's 400 fills them with {file, detail, code}.
export type ImageUploadError = Pending["ImageUploadError"];
export type ImportJob = Schemas["ImportJobOutput"];
export type BrowserItem = Schemas["BrowserItemOutput"];
export type BrowserPage = Schemas["BrowserPageOutput"];
export type ImageRecord = Schemas["ImageRecordOutput"];
export type HistoryEntry = Schemas["HistoryEntryOutput"];
export type ReviewNext = Schemas["ReviewNextOutput"];
export type ReviewDecisionInput = Schemas["ReviewDecisionInputRequest"];
export type AnnotatorStats = Schemas["AnnotatorStatsOutput"];
export type AnnotatorStatsRow = Schemas["AnnotatorStatsAnnotator"];
