// The loading, empty and error states every page shows, and the error boundary every route
// sits in (a failure shows a retry, never a blank screen).

import { Alert, Button, Empty, Result, Skeleton } from "antd";
import { Component, type ErrorInfo, type ReactNode } from "react";
import { ApiError } from "../api/problem";
import { useI18n } from "../i18n";

export function Loading() {
  const { t } = useI18n();
  return (
    <div aria-busy="true" aria-label={t("common.loading")}>
      <Skeleton active />
    </div>
  );
}

export function Nothing({ text }: { text?: string }) {
  const { t } = useI18n();
  return <Empty description={text ?? t("common.empty")} />;
}

/** A failed query: the server's detail (or "could not be reached") and a retry button. */
export function Failed({ error, retry }: { error: unknown; retry?: () => void }) {
  const { t } = useI18n();
  const message =
    error instanceof ApiError
      ? error.message
      : error instanceof TypeError
        ? t("errors.network")
        : String(error);
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      title={t("common.error")}
      description={message}
      action={
        retry && (
          <Button size="small" onClick={retry}>
            {t("common.retry")}
          </Button>
        )
      }
    />
  );
}

/** What a list query offers: TanStack Query's result, or several combined alike. */
export type ListQuery<T> = { isPending: boolean; error: unknown; data?: T[]; refetch: () => unknown };

/** A list query's loading, error (with a retry) and empty states, else `children` with its
 * rows. */
export function Queried<T>({ query, empty, children }: { query: ListQuery<T>; empty?: string; children: (rows: T[]) => ReactNode }) {
  if (query.isPending) return <Loading />;
  if (query.error) return <Failed error={query.error} retry={() => void query.refetch()} />;
  if (!query.data || query.data.length === 0) return <Nothing text={empty} />;
  return <>{children(query.data)}</>;
}

type BoundaryState = { error?: Error };

function BoundaryFallback({ error, reset }: { error: Error; reset: () => void }) {
  const { t } = useI18n();
  return (
    <Result
      status="error"
      title={t("errors.page")}
      subTitle={error.message}
      extra={
        <Button type="primary" onClick={reset}>
          {t("common.retry")}
        </Button>
      }
    />
  );
}

export class ErrorBoundary extends Component<{ children: ReactNode }, BoundaryState> {
  state: BoundaryState = {};

  static getDerivedStateFromError(error: Error): BoundaryState {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("page failed", error, info.componentStack);
  }

  render() {
    if (this.state.error) {
      return <BoundaryFallback error={this.state.error} reset={() => this.setState({ error: undefined })} />;
    }
    return this.props.children;
  }
}
