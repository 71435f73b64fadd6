import type { AgentRun, ConnectionStatus, IngestJob, WorkflowRun } from '@realtime-events/client';
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

export function Dashboard({ projectId }: { projectId: string }) {
  const connection = useConnectionStatus();
  const ingest = useIngestJobStream(projectId);
  const agents = useAgentRunStream(projectId);
  const workflows = useWorkflowNodeStates(projectId);
  const failed = [ingest, agents, workflows].find((view) => view.status === 'error');
  const status = failed ? 'error' : connection;
  return (
    <div className="page">
      <header className="topbar">
        <div>
          <h1>Live work</h1>
          <p className="subtitle">
            Project <strong data-testid="project">{projectId}</strong>
          </p>
        </div>
        <div className={`connection connection-${status}`} data-testid="connection" title={failed?.error?.message}>
          <span className="dot" />
          {STATUS_LABEL[status]}
        </div>
      </header>
      <main className="columns">
        <Panel title="Ingest jobs" count={ingest.jobs.length} testId="ingest-panel">
          {newestFirst(ingest.jobs).map((job) => (
            <JobCard key={job.id} job={job} />
          ))}
        </Panel>
        <Panel title="Agent runs" count={agents.runs.length} testId="agent-panel">
          {newestFirst(agents.runs).map((run) => (
            <RunCard key={run.id} run={run} />
          ))}
        </Panel>
        <Panel title="Workflows" count={workflows.runs.length} testId="workflow-panel">
          {newestFirst(workflows.runs).map((run) => (
            <WorkflowCard key={run.id} run={run} />
          ))}
        </Panel>
      </main>
    </div>
  );
}

function Panel({ title, count, testId, children }: { title: string; count: number; testId: string; children: React.ReactNode }) {
  return (
    <section className="panel" data-testid={testId}>
      <h2>
        {title} <span className="count">{count}</span>
      </h2>
      <div className="cards">{count === 0 ? <p className="empty">Nothing yet</p> : children}</div>
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
