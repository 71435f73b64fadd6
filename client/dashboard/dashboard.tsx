import type { AgentRun, ConnectionStatus, IngestJob, StreamView, WorkflowRun } from '@realtime-events/client';
import { useAgentRunStream, useConnectionStatus, useIngestJobStream, useWorkflowNodeStates } from '@realtime-events/client';

const STATUS_LABEL: Record<ConnectionStatus, string> = {
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  error: 'Error',
};

/** Newest first: what is happening now is at the top. */
const newestFirst = <T extends { createdAt: string }>(items: T[]) =>
  [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt));

const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleTimeString() : '');

const count = new Intl.NumberFormat('en-US');

/**
 * Why the page shows nothing, in words, or undefined when nothing is wrong: a refusal (the
 * project id, the token), or a server that does not answer.
 */
function problemOf(projectId: string, apiUrl: string, views: Array<StreamView<unknown>>, connection: ConnectionStatus): string | undefined {
  const failed = views.find((view) => view.status === 'error')?.error;
  if (failed) {
    const [first] = failed.graphQLErrors;
    const reason = first?.message ?? failed.message;
    switch (first?.extensions?.code) {
      case 'BAD_USER_INPUT':
        return `"${projectId}" is not a project id the API accepts (${reason}). Pick another with ?project=<id>.`;
      case 'UNAUTHENTICATED':
        return `The API refused the token (${reason}). Pass a valid one with ?token=<jwt>.`;
      case 'FORBIDDEN':
        return `This token may not read project "${projectId}" (${reason}).`;
      default:
        return `The API answered with an error: ${reason}`;
    }
  }
  if (connection === 'reconnecting' || views.some((view) => view.status === 'reconnecting')) {
    return `The API at ${apiUrl} does not answer. Trying again…`;
  }
  return undefined;
}

export function Dashboard({ projectId, apiUrl }: { projectId: string; apiUrl: string }) {
  const connection = useConnectionStatus();
  const ingest = useIngestJobStream(projectId);
  const agents = useAgentRunStream(projectId);
  const workflows = useWorkflowNodeStates(projectId);
  const views = [ingest, agents, workflows];
  const failed = views.some((view) => view.status === 'error');
  const status = failed ? 'error' : connection;
  const problem = problemOf(projectId, apiUrl, views, connection);
  const empty = problem ? 'Nothing to show yet' : status === 'live' ? 'Nothing yet' : 'Loading…';
  return (
    <div className="page">
      <header className="topbar">
        <div className="heading">
          <h1>Live work</h1>
          <p className="subtitle">
            Project <strong data-testid="project">{projectId}</strong>
          </p>
        </div>
        <div className={`connection connection-${status}`} data-testid="connection">
          <span className="dot" />
          {STATUS_LABEL[status]}
        </div>
      </header>
      {problem && (
        <p className={`problem problem-${status}`} role="alert" data-testid="problem">
          {problem}
        </p>
      )}
      <main className="columns">
        <Panel title="Ingest jobs" view={ingest} empty={empty} testId="ingest-panel">
          {newestFirst(ingest.jobs).map((job) => (
            <JobCard key={job.id} job={job} />
          ))}
        </Panel>
        <Panel title="Agent runs" view={agents} empty={empty} testId="agent-panel">
          {newestFirst(agents.runs).map((run) => (
            <RunCard key={run.id} run={run} />
          ))}
        </Panel>
        <Panel title="Workflows" view={workflows} empty={empty} testId="workflow-panel">
          {newestFirst(workflows.runs).map((run) => (
            <WorkflowCard key={run.id} run={run} />
          ))}
        </Panel>
      </main>
    </div>
  );
}

function Panel({
  title,
  view,
  empty,
  testId,
  children,
}: {
  title: string;
  view: StreamView<unknown>;
  empty: string;
  testId: string;
  children: React.ReactNode;
}) {
  const shown = view.entities.length;
  // A view holds the latest 200; past that the badge says it is a window, not a total.
  const label = view.total > shown ? `latest ${count.format(shown)} of ${count.format(view.total)}` : count.format(shown);
  return (
    <section className="panel" data-testid={testId}>
      <h2>
        {title} <span className="count" data-testid="count">{label}</span>
      </h2>
      <div className="cards">{shown === 0 ? <p className="empty">{empty}</p> : children}</div>
    </section>
  );
}

function Badge({ status }: { status: string }) {
  return <span className={`badge badge-${status.toLowerCase()}`}>{status.toLowerCase()}</span>;
}

function JobCard({ job }: { job: IngestJob }) {
  const percent = Math.round(job.progress * 100);
  return (
    <article className="card" data-testid={`job-${job.id}`}>
      <div className="card-head">
        <span className="title" title={job.source}>
          {job.source}
        </span>
        <Badge status={job.status} />
      </div>
      <div className="progress" role="progressbar" aria-valuenow={percent} aria-valuemin={0} aria-valuemax={100}>
        <div className={`bar bar-${job.status.toLowerCase()}`} style={{ width: `${percent}%` }} />
      </div>
      <div className="meta">
        <span data-testid="percent">{percent}%</span>
        {job.totalItems != null && (
          <span>
            {job.processedItems ?? 0} / {job.totalItems} items
          </span>
        )}
        <span>{time(job.updatedAt)}</span>
      </div>
      {job.error ? <p className="error">{job.error}</p> : job.message && <p className="note">{job.message}</p>}
    </article>
  );
}

/** Messages a run card shows; the hook holds more, the run may have many more. */
const MESSAGES_SHOWN = 6;

function RunCard({ run }: { run: AgentRun }) {
  const hidden = run.messageCount - Math.min(run.messages.length, MESSAGES_SHOWN);
  return (
    <article className="card" data-testid={`run-${run.id}`}>
      <div className="card-head">
        <span className="title">{run.agent}</span>
        <Badge status={run.status} />
      </div>
      {run.steps.length > 0 && (
        <ol className="steps">
          {run.steps.map((step) => (
            <li key={step.id} className={`step step-${step.status.toLowerCase()}`}>
              {step.name}
            </li>
          ))}
        </ol>
      )}
      {hidden > 0 && (
        <p className="note" data-testid="earlier-messages">
          {hidden} earlier {hidden === 1 ? 'message' : 'messages'}
        </p>
      )}
      <ul className="messages">
        {run.messages.slice(-MESSAGES_SHOWN).map((message) => (
          <li
            key={message.id}
            className={`message message-${message.role.toLowerCase()}`}
            data-testid={`message-${message.index}`}
            data-status={message.status.toLowerCase()}
          >
            <span className="role">{message.role.toLowerCase()}</span>
            <span className="content">
              {message.content}
              {message.status === 'STREAMING' && <span className="caret" data-testid="caret" aria-hidden="true" />}
            </span>
          </li>
        ))}
      </ul>
      {run.output && <p className="note">{run.output}</p>}
      {run.error && <p className="error">{run.error}</p>}
    </article>
  );
}

function WorkflowCard({ run }: { run: WorkflowRun }) {
  return (
    <article className="card" data-testid={`workflow-${run.id}`}>
      <div className="card-head">
        <span className="title">{run.workflowId}</span>
        <Badge status={run.status} />
      </div>
      <ol className="nodes">
        {run.nodes.map((node) => (
          <li key={node.nodeId} className={`node node-${node.status.toLowerCase()}`} title={node.error ?? node.output ?? ''}>
            <span className="node-name">{node.nodeId}</span>
            <span className="node-status">{node.status.toLowerCase()}</span>
          </li>
        ))}
      </ol>
      <div className="meta" data-testid="node-counts">
        <span>
          {run.nodeCounts.succeeded + run.nodeCounts.failed + run.nodeCounts.skipped} / {run.nodeCount} nodes done
        </span>
        {run.nodeCounts.running > 0 && <span>{run.nodeCounts.running} running</span>}
        {run.nodeCounts.failed > 0 && <span>{run.nodeCounts.failed} failed</span>}
      </div>
    </article>
  );
}
