// A minimal typed client: the result and variables of each request are checked against the
// operations, which codegen checks against schema.graphql. If a schema change breaks a documented
// operation, `npm test` fails here.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import {
  FirmAssignedCasesDocument,
  GridWorkerOpenCasesDocument,
  ResidentWallsDocument,
  SecretaryDashboardDocument,
} from "./gql/graphql";

export async function request<TResult, TVariables>(
  url: string,
  token: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json",
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: TResult; errors?: { message: string }[] };
  if (body.errors?.length || !body.data) throw new Error(body.errors?.map((e) => e.message).join("; "));
  return body.data;
}

// Each screen's use of its data is type-checked.
export async function gridWorkerScreen(url: string, token: string): Promise<string[]> {
  const data = await request(url, token, GridWorkerOpenCasesDocument, { first: 20 });
  return data.cases.nodes.map((c) => `${c.number} ${c.title} ${c.overdue ? "超期" : ""}`);
}

export async function firmDesk(url: string, token: string): Promise<number> {
  const data = await request(url, token, FirmAssignedCasesDocument, { first: 20 });
  return data.cases.nodes.filter((c) => c.supervised).length;
}

export async function residentWalls(url: string, token: string, compoundId: string): Promise<string[]> {
  const data = await request(url, token, ResidentWallsDocument, { compoundId });
  return data.echoWall.nodes.map((e) => `${e.title}: ${e.answer ?? ""}`);
}

export async function secretaryDashboard(url: string, token: string, areaId: string): Promise<number | null> {
  const data = await request(url, token, SecretaryDashboardDocument, { areaId, from: "2026-11-01", to: "2026-11-30" });
  return data.caseStatistics.onTimeRate ?? null;
}
