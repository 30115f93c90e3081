/** The small estate the decoder's tests judge against: two compounds, every kind. */
import { Registry, parseEstate } from '../../config/index.ts';

export const DECODE_ESTATE = `
sites:
  - id: jinfo-garden
    name: 金佛花园
    property: { name: 渝南物业 }
    devices:
      - { id: HY-03, kind: hydrant, building: "3栋" }
      - { id: EL-1-A, kind: elevator, building: "1栋" }
      - { id: FL-01, kind: firelane, building: "东侧消防通道" }
      - { id: WS-01, kind: water, building: "二次供水泵房" }
  - id: nancheng-mansion
    name: 南城首府
    property: { name: 锦程物业 }
    devices:
      - { id: NC-HY-01, kind: hydrant, building: "1幢" }
      - { id: NC-EL-1-A, kind: elevator, building: "1幢" }
`;

export function decodeRegistry(): Registry {
  return new Registry(parseEstate(DECODE_ESTATE, 'test.yaml', {}));
}
