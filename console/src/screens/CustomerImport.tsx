import {
  Alert,
  Button,
  Group,
  NativeSelect,
  Paper,
  Progress,
  Radio,
  Stack,
  Table,
  Text,
  Title,
} from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";

import { api, ApiError, unwrap, type Schemas } from "../api/client";
import {
  describeReport,
  describeStatus,
  doubleMapped,
  isRunning,
  mappingJson,
  percentDone,
  previewCsv,
  sameMapping,
} from "../lib/csvImport";
import { useFocusHeading } from "../lib/useFocusHeading";

type Check = Schemas["ImportCheck"];
type RowError = Schemas["RowError"];
const POLL_MS = 500;

function upload(file: File, mapping: string | null, onInvalid?: string): FormData {
  const form = new FormData();
  form.append("file", file);
  if (mapping !== null) form.append("mapping", mapping);
  if (onInvalid) form.append("on_invalid", onInvalid);
  return form;
}

/** Where a problem of the check or the import belongs: the file, a column's mapping, or the
 * form as a whole. */
function problemsAt(error: unknown): { file?: string; columns: Record<string, string>; form?: string } {
  if (!(error instanceof ApiError)) return { columns: {}, form: error ? String(error) : undefined };
  const columns: Record<string, string> = {};
  let file: string | undefined;
  let form: string | undefined;
  const listed = error.errors.length ? error.errors : [{ field: error.field ?? null, message: error.message }];
  for (const p of listed) {
    const [head, ...rest] = (p.field ?? "").split(".");
    if (head === "file") file = p.message;
    else if (head === "mapping" && rest.length) columns[rest.join(".")] = p.message;
    else form = form ? `${form}; ${p.message}` : p.message;
  }
  return { file, columns, form };
}

/** Seed 003's CSV import as a wizard: choose the file, map its columns to the customer's fields
 * (the API proposes the mapping from the headers) and check every row before anything is
 * stored, choose what bad rows do, then the import runs as a job with its progress and its
 * report per refused row. */
export function CustomerImportScreen() {
  const heading = useFocusHeading<HTMLHeadingElement>();
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<{ header: string[]; rows: string[][] }>({ header: [], rows: [] });
  const [choices, setChoices] = useState<Record<string, string>>({});
  const [onInvalid, setOnInvalid] = useState("skip");
  const [jobId, setJobId] = useState<string | null>(null);
  const checkHeading = useRef<HTMLHeadingElement>(null);
  const resultHeading = useRef<HTMLHeadingElement>(null);

  const check = useMutation({
    mutationFn: ({ chosen, mapping }: { chosen: File; mapping: string | null }) =>
      unwrap(api.POST("/api/bulk/import-checks", { body: upload(chosen, mapping) as never })),
    onSuccess: (answer: Check) => {
      setChoices((before) =>
        Object.fromEntries(preview.header.map((h) => [h, answer.columns[h] ?? (h in before ? before[h] : "")])),
      );
    },
  });
  const start = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/bulk/imports", { body: upload(file!, mappingJson(choices), onInvalid) as never })),
    onSuccess: (job) => setJobId(job.id),
  });
  const job = useQuery({
    queryKey: ["import", jobId],
    enabled: jobId !== null,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/bulk/imports/{job_id}", { params: { path: { job_id: jobId! } }, signal })),
    refetchInterval: (query) => (query.state.data && !isRunning(query.state.data.status) ? false : POLL_MS),
  });

  const checked = check.data;
  const finished = job.data && !isRunning(job.data.status);
  useEffect(() => {
    if (checked) checkHeading.current?.focus();
  }, [checked]);
  useEffect(() => {
    if (finished) resultHeading.current?.focus();
  }, [finished]);

  const choose = async (chosen: File | null) => {
    setFile(chosen);
    setJobId(null);
    start.reset();
    check.reset();
    if (!chosen) return;
    const text = await chosen.text();
    setPreview(previewCsv(text));
    setChoices({});
    check.mutate({ chosen, mapping: null }); // the API proposes a mapping from the headers
  };
  const recheck = () => file && check.mutate({ chosen: file, mapping: mappingJson(choices) });

  const problems = problemsAt(check.error ?? start.error);
  const twice = doubleMapped(choices);
  const mappingChanged = Boolean(checked) && !sameMapping(choices, checked?.columns ?? {});

  return (
    <Stack maw={1100}>
      <Title order={1} ref={heading} tabIndex={-1}>
        Import customers
      </Title>
      <Paper withBorder p="md" component="section" aria-labelledby="file-heading">
        <Stack gap="xs">
          <Title order={2} size="h3" id="file-heading">
            1. File
          </Title>
          <label htmlFor="csv-file">
            <Text size="sm" fw={500} span>
              CSV file (a header row, then one customer a row)
            </Text>
          </label>
          <input
            id="csv-file"
            type="file"
            accept=".csv,text/csv"
            aria-invalid={problems.file ? true : undefined}
            aria-describedby={problems.file ? "csv-file-error" : undefined}
            onChange={(e) => choose(e.currentTarget.files?.[0] ?? null)}
          />
          {problems.file && (
            <Text id="csv-file-error" size="sm" c="red.9">
              {problems.file}
            </Text>
          )}
        </Stack>
      </Paper>

      {file && preview.header.length > 0 && (
        <Paper withBorder p="md" component="section" aria-labelledby="check-heading">
          <Stack>
            <Title order={2} size="h3" id="check-heading" ref={checkHeading} tabIndex={-1}>
              2. Columns and check
            </Title>
            <Table aria-label="Columns" striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Column</Table.Th>
                  <Table.Th scope="col">First rows</Table.Th>
                  <Table.Th scope="col">Customer field</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {preview.header.map((h, i) => {
                  const error =
                    problems.columns[h] ?? (choices[h] && twice.includes(choices[h]) ? "another column maps to this field too" : undefined);
                  return (
                    <Table.Tr key={h}>
                      <Table.Td>{h}</Table.Td>
                      <Table.Td>
                        {preview.rows
                          .map((r) => r[i] ?? "")
                          .filter(Boolean)
                          .slice(0, 3)
                          .join(" · ")}
                      </Table.Td>
                      <Table.Td>
                        <NativeSelect
                          aria-label={`Field for column ${h}`}
                          value={choices[h] ?? ""}
                          error={error}
                          data={[
                            { value: "", label: "(not imported)" },
                            ...(checked?.fields ?? []).map((f) => ({ value: f, label: f.replace(/_/g, " ") })),
                          ]}
                          onChange={(e) => setChoices({ ...choices, [h]: e.currentTarget.value })}
                        />
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
            {problems.form && (
              <Alert color="red.9" title="Not checked" role="alert">
                {problems.form}
              </Alert>
            )}
            <Group>
              <Button variant="default" onClick={recheck} loading={check.isPending} disabled={twice.length > 0}>
                Check the rows again
              </Button>
              {mappingChanged && <Text size="sm">The mapping changed since the last check.</Text>}
            </Group>
            {checked && <CheckResult check={checked} />}
          </Stack>
        </Paper>
      )}

      {checked && !check.isPending && (
        <Paper withBorder p="md" component="section" aria-labelledby="run-heading">
          <Stack>
            <Title order={2} size="h3" id="run-heading">
              3. Import
            </Title>
            <Radio.Group label="Rows with errors" value={onInvalid} onChange={setOnInvalid}>
              <Stack gap="xs" mt="xs">
                <Radio value="skip" label="Import the good rows and report the bad ones" />
                <Radio value="abort" label="Import nothing if any row is bad" />
              </Stack>
            </Radio.Group>
            <Group>
              <Button
                onClick={() => start.mutate()}
                loading={start.isPending || (job.data ? isRunning(job.data.status) : jobId !== null)}
                disabled={twice.length > 0 || jobId !== null || mappingChanged}
              >
                Import {checked.rows} rows
              </Button>
              {mappingChanged && <Text size="sm">Check the rows again before importing.</Text>}
            </Group>
            {start.error && !problems.form && !problems.file && (
              <Alert color="red.9" title="Not imported" role="alert">
                {start.error.message}
              </Alert>
            )}
            {job.data && (
              <Stack gap="xs">
                <Progress
                  value={finished ? 100 : percentDone(job.data.progress, checked.rows)}
                  aria-label="Import progress"
                  size="lg"
                />
                <Text size="sm" role="status">
                  {describeStatus(job.data.status)}: {describeReport(job.data.progress)}
                </Text>
              </Stack>
            )}
            {job.error && (
              <Alert color="red.9" title="Progress unknown" role="alert">
                {job.error.message}
              </Alert>
            )}
          </Stack>
        </Paper>
      )}

      {finished && job.data && (
        <Paper withBorder p="md" component="section" aria-labelledby="result-heading">
          <Stack>
            <Title order={2} size="h3" id="result-heading" ref={resultHeading} tabIndex={-1}>
              Result
            </Title>
            <Text>
              {describeStatus(job.data.status)}. {describeReport(job.data.progress)}
            </Text>
            <RowErrors errors={job.data.progress.errors ?? []} label="Refused rows" />
          </Stack>
        </Paper>
      )}
    </Stack>
  );
}

function CheckResult({ check }: { check: Check }) {
  return (
    <Stack gap="xs" role="region" aria-label="Rows checked">
      <Text>
        {check.rows} rows: {check.valid} ready to import, {check.rejected} with errors.
        {check.unmapped.length > 0 ? ` Not imported: ${check.unmapped.join(", ")}.` : ""}
      </Text>
      <RowErrors errors={check.errors} label="Rows with errors" />
    </Stack>
  );
}

function RowErrors({ errors, label }: { errors: RowError[]; label: string }) {
  if (errors.length === 0) return null;
  return (
    <Table aria-label={label} striped>
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">Row</Table.Th>
          <Table.Th scope="col">Field</Table.Th>
          <Table.Th scope="col">Problem</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {errors.map((e, i) => (
          <Table.Tr key={`${e.row}-${i}`}>
            <Table.Td>{e.row ?? ""}</Table.Td>
            <Table.Td>{e.column ?? ""}</Table.Td>
            <Table.Td>{e.message}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
