/**
 * Named aliases over the generated OpenAPI types (schema.gen.ts). Never edit the
 * generated file: run `npm run gen:api` and adjust the aliases here if names change.
 */
import type { components } from "./schema.gen";

type Schemas = components["schemas"];

export type User = Schemas["User"];
export type Balance = Schemas["Balance"];
export type Role = Schemas["RoleEnum"];
export type TaskType = Schemas["TaskTypeEnum"];
export type Project = Schemas["Project"];
export type ProjectPatch = Schemas["PatchedProject"];
export type Paginated<T> = { count: number; next?: string | null; previous?: string | null; results: T[] };
export type LabelClass = Schemas["LabelClass"];
export type LabelClassInput = Schemas["LabelClassInput"];
export type Membership = Schemas["Membership"];
export type MembershipInput = Schemas["MembershipInput"];
export type Image = Schemas["Image"];
export type ImageUploadResult = Schemas["ImageUploadResult"];
export type ImageUploadError = Schemas["ImageUploadError"];
export type PredictedBox = Schemas["PredictedBox"];
export type QueuePrediction = Schemas["QueuePrediction"];
export type QueueNext = Schemas["QueueNext"];
export type AnnotationSubmitInput = Schemas["AnnotationSubmitInput"];
export type AnnotationBoxInput = Schemas["AnnotationBoxInput"];
export type CreditGrantInput = Schemas["CreditGrantInput"];
export type LedgerEntry = Schemas["LedgerEntry"];
export type ProjectStats = Schemas["ProjectStats"];
export type ModelVersion = Schemas["ModelVersion"];
export type TrainingRun = Schemas["TrainingRun"];
export type RescoreProgress = Schemas["RescoreProgress"];
export type LearningCurve = Schemas["LearningCurve"];
export type HealthReport = Schemas["HealthReport"];
export type VerificationNext = Schemas["VerificationNext"];
export type VerificationInput = Schemas["VerificationInput"];
