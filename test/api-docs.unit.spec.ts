import * as path from 'node:path';
import { documentedOperations, servedOperations } from './support/apiDocs';
import { HTTP_SERVICES, httpApp, type HttpService } from './support/httpApps';

////////// Each service's OpenAPI document lists exactly the operations its app serves (the docs routes included).

describe('OpenAPI documents match the served routes', () => {
  it.each(Object.keys(HTTP_SERVICES) as HttpService[])('%s', async (service) => {
    const { app, close } = httpApp(service);
    try {
      const served = servedOperations(app);
      expect(served).toEqual(expect.arrayContaining(['GET /openapi.json', 'GET /openapi.yaml', 'GET /docs', 'GET /docs/assets/{file}']));
      expect(documentedOperations(path.resolve(__dirname, '..', HTTP_SERVICES[service], 'openapi.yaml'))).toEqual(served);
    } finally {
      await close();
    }
  });
});
