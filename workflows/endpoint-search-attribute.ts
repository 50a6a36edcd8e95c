// The EndpointName search attribute that lets the Web UI filter runs by endpoint.
import { upsertSearchAttributes } from '@temporalio/workflow';
import { ENDPOINT_NAME_ATTRIBUTE } from '../common/resource-names.js';

export function tagWithEndpointName(endpointName: string): void {
  upsertSearchAttributes([{ key: ENDPOINT_NAME_ATTRIBUTE, value: endpointName }]);
}
