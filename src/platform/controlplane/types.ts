/**
 * The Control Plane API shapes the driver reads (trimmed from controlplane-com/types-ts, deployment.md
 * §2.5). Everything is optional: answers are checked where they are used.
 */

export interface CplnLink {
  rel: string;
  href: string;
}

export interface CplnWorkload {
  name?: string;
  spec?: {
    type?: string;
    defaultOptions?: { suspend?: boolean; autoscaling?: { minScale?: number; maxScale?: number; metric?: string } };
    containers?: { name?: string }[];
  };
  status?: { replicaInternalNames?: string[]; currentReplicaCount?: number; internalName?: string };
}

export interface CplnContainerStatus {
  name?: string;
  ready?: boolean;
  message?: string;
  resources?: { replicas?: number; replicasReady?: number };
}

export interface CplnDeploymentVersion {
  name?: string;
  ready?: boolean;
  message?: string;
  containers?: Record<string, CplnContainerStatus>;
}

export interface CplnDeployment {
  name?: string;
  status?: { ready?: boolean; deploying?: boolean; message?: string; versions?: CplnDeploymentVersion[] };
}

export interface CplnDeploymentList {
  items?: CplnDeployment[];
}

export interface CplnEnvVar {
  name: string;
  value?: string;
}

export interface CplnCommand {
  id?: string;
  type?: string;
  lifecycleStage?: string;
  created?: string;
  lastModified?: string;
  spec?: { location?: string; containerOverrides?: { name?: string; env?: CplnEnvVar[] }[] };
  status?: { replica?: string; messages?: string[]; pendingTerminalStage?: string };
}

export interface CplnQueryResult<T> {
  kind?: string;
  items?: T[];
  links?: CplnLink[];
}
