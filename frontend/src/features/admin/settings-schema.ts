/**
 * Help text, bounds and choices of each setting, read from the API's own OpenAPI schema
 * (`ProjectSettings` and `CollectionRule`), so the form says what the server enforces.
 */
import { queryOptions } from "@tanstack/react-query";
import { api } from "../../api/client";

export interface FieldMeta {
  /** The OpenAPI type: "boolean", "integer", "number", "string", "array", ... */
  type?: string;
  nullable?: boolean;
  help?: string;
  min?: number;
  max?: number;
  integer?: boolean;
  choices?: string[];
  default?: unknown;
}

export type SchemaMeta = Record<string, FieldMeta>;

interface OpenApiProperty {
  type?: string;
  nullable?: boolean;
  description?: string;
  minimum?: number;
  maximum?: number;
  enum?: string[];
  default?: unknown;
  $ref?: string;
  allOf?: { $ref?: string }[];
}

interface OpenApiDocument {
  components?: { schemas?: Record<string, { properties?: Record<string, OpenApiProperty>; enum?: string[] }> };
}

/** drf-spectacular appends the enum's "* `a` - a" list to descriptions: the form shows choices itself. */
function helpText(description: string | undefined): string | undefined {
  const text = description?.split("\n\n")[0]?.trim();
  return text || undefined;
}

export function metaFromSchema(document: OpenApiDocument, component: string): SchemaMeta {
  const schemas = document.components?.schemas ?? {};
  const properties = schemas[component]?.properties ?? {};
  const meta: SchemaMeta = {};
  for (const [key, property] of Object.entries(properties)) {
    const ref = property.$ref ?? property.allOf?.[0]?.$ref;
    const choices = property.enum ?? (ref ? schemas[ref.split("/").pop() ?? ""]?.enum : undefined);
    meta[key] = {
      type: property.type ?? (choices ? "string" : undefined),
      nullable: property.nullable,
      help: helpText(property.description),
      min: property.minimum,
      max: property.maximum,
      integer: property.type === "integer",
      choices: choices?.filter((choice): choice is string => typeof choice === "string" && choice !== ""),
      default: property.default,
    };
  }
  return meta;
}

export const settingsSchemaQuery = queryOptions({
  queryKey: ["openapi", "settings"],
  queryFn: async () => {
    const document = await api<OpenApiDocument>("/api/schema/?format=json");
    return { settings: metaFromSchema(document, "ProjectSettings"), rule: metaFromSchema(document, "CollectionRule") };
  },
  staleTime: Infinity,
});
