// Every operation of the dashboard. `npm run codegen` turns each into a typed document
// (src/gql/), so components get result and variable types from schema.graphql.
import { graphql } from "./gql";

export const MEETING_SUMMARY = graphql(`
  fragment MeetingSummary on Meeting {
    id
    version
    status
    startsAt
    endsAt
    lengthMinutes
    priceCredits
    creditPaymentStatus
    viewerRole
    awaitingResponseFrom
    availableActions
    user { id displayName }
    expert { id displayName }
    service { id title }
    skill { id name }
    alternative { startsAt endsAt proposedBy proposedAt }
  }
`);

export const MEETING_DETAIL = graphql(`
  fragment MeetingDetail on Meeting {
    ...MeetingSummary
    createdBy
    createdAt
    approvedByUser
    approvedByExpert
    cancellationPolicy { isLate lateFrom }
    rejectionReason { code label }
    cancellationReason { code label }
    conference { provider status joinUrl }
    timeline { id kind label at actor startsAt note reason { code label } }
    conversation { id }
  }
`);

export const PAYLOAD_FIELDS = graphql(`
  fragment MeetingPayloadFields on MeetingPayload {
    meeting { ...MeetingDetail }
    errors { code message field }
    warnings { code message conflictingMeetings { ...MeetingSummary } }
    viewer { credits { available blocked } }
  }
`);

export const VIEWER = graphql(`
  query Viewer {
    viewer {
      isAdmin
      credits { available blocked }
      account {
        id
        displayName
        timezone
        isExpert
        expertProfile {
          headline
          skills { id name }
          services { id title lengthMinutes priceCredits active skills { id name } }
        }
      }
    }
  }
`);

export const MEETINGS = graphql(`
  query Meetings($role: MeetingRole!, $upcoming: Boolean, $first: Int!, $after: String) {
    meetings(role: $role, upcoming: $upcoming, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { ...MeetingSummary } }
    }
  }
`);

export const MEETING = graphql(`
  query Meeting($id: ID!) {
    meeting(id: $id) { ...MeetingDetail }
  }
`);

export const MEETING_CONFLICTS = graphql(`
  query MeetingConflicts($id: ID!) {
    meeting(id: $id) { id version availableActions conflicts { ...MeetingSummary } }
  }
`);

export const CANCELLATION_POLICY = graphql(`
  query CancellationPolicy($id: ID!) {
    meeting(id: $id) { id version availableActions cancellationPolicy { isLate lateFrom } }
  }
`);

export const REASONS = graphql(`
  query Reasons($kind: ReasonKind!) {
    reasons(kind: $kind) { code label }
  }
`);

export const MEETING_CHANGED = graphql(`
  subscription MeetingChanged {
    meetingChanged {
      cursor
      meeting { ...MeetingDetail }
      event { id kind label at actor }
      viewer { credits { available blocked } }
    }
  }
`);

export const CONFIRM = graphql(`
  mutation ConfirmMeeting($input: MeetingRefInput!) {
    confirmMeeting(input: $input) { ...MeetingPayloadFields }
  }
`);

export const DECLINE = graphql(`
  mutation DeclineMeeting($input: DeclineMeetingInput!) {
    declineMeeting(input: $input) { ...MeetingPayloadFields }
  }
`);

export const CANCEL = graphql(`
  mutation CancelMeeting($input: CancelMeetingInput!) {
    cancelMeeting(input: $input) { ...MeetingPayloadFields }
  }
`);

export const RESCHEDULE = graphql(`
  mutation RescheduleMeeting($input: RescheduleMeetingInput!) {
    rescheduleMeeting(input: $input) { ...MeetingPayloadFields }
  }
`);

export const CONFIRM_ALTERNATIVE = graphql(`
  mutation ConfirmAlternativeDate($input: MeetingRefInput!) {
    confirmAlternativeDate(input: $input) { ...MeetingPayloadFields }
  }
`);

export const REJECT_ALTERNATIVE = graphql(`
  mutation RejectAlternativeDate($input: RejectAlternativeDateInput!) {
    rejectAlternativeDate(input: $input) { ...MeetingPayloadFields }
  }
`);

export const CANCEL_ALTERNATIVE = graphql(`
  mutation CancelAlternativeDate($input: MeetingRefInput!) {
    cancelAlternativeDate(input: $input) { ...MeetingPayloadFields }
  }
`);

export const REQUEST = graphql(`
  mutation RequestMeeting($input: RequestMeetingInput!) {
    requestMeeting(input: $input) { ...MeetingPayloadFields }
  }
`);

export const PROPOSE = graphql(`
  mutation ProposeMeeting($input: ProposeMeetingInput!) {
    proposeMeeting(input: $input) { ...MeetingPayloadFields }
  }
`);

export const EXPERTS = graphql(`
  query Experts {
    experts(first: 50) {
      id
      displayName
      timezone
      expertProfile {
        headline
        services { id title description lengthMinutes priceCredits active skills { id name } }
      }
    }
  }
`);

export const FREE_SLOTS = graphql(`
  query FreeSlots($expertId: ID!, $from: DateTime!, $to: DateTime!, $lengthMinutes: Int!) {
    expertFreeSlots(expertId: $expertId, from: $from, to: $to, lengthMinutes: $lengthMinutes) {
      startsAt
      endsAt
    }
  }
`);

export const AVAILABILITY_FIELDS = graphql(`
  fragment AvailabilityFields on Availability {
    timezone
    weeklyRules { weekday startTime endTime }
    freeDates { id startsAt endsAt }
    blockedDates { id startsAt endsAt }
  }
`);

export const MY_AVAILABILITY = graphql(`
  query MyAvailability {
    viewer {
      account {
        id
        expertProfile {
          services { id title lengthMinutes active }
          availability { ...AvailabilityFields }
        }
      }
    }
  }
`);

export const SET_WEEKLY = graphql(`
  mutation SetWeeklyAvailability($input: SetWeeklyAvailabilityInput!) {
    setWeeklyAvailability(input: $input) {
      expert { id expertProfile { availability { ...AvailabilityFields } } }
      errors { code message field }
    }
  }
`);

export const ADD_FREE = graphql(`
  mutation AddFreeDates($input: [DateRangeInput!]!) {
    addFreeDates(input: $input) {
      expert { id expertProfile { availability { ...AvailabilityFields } } }
      errors { code message field }
    }
  }
`);

export const REMOVE_FREE = graphql(`
  mutation RemoveFreeDates($ids: [ID!]!) {
    removeFreeDates(ids: $ids) {
      expert { id expertProfile { availability { ...AvailabilityFields } } }
      errors { code message field }
    }
  }
`);

export const ADD_BLOCKED = graphql(`
  mutation AddBlockedDates($input: [DateRangeInput!]!) {
    addBlockedDates(input: $input) {
      expert { id expertProfile { availability { ...AvailabilityFields } } }
      errors { code message field }
    }
  }
`);

export const REMOVE_BLOCKED = graphql(`
  mutation RemoveBlockedDates($ids: [ID!]!) {
    removeBlockedDates(ids: $ids) {
      expert { id expertProfile { availability { ...AvailabilityFields } } }
      errors { code message field }
    }
  }
`);

export const MESSAGE_FIELDS = graphql(`
  fragment MessageFields on Message {
    id
    kind
    body
    createdAt
    author { id displayName }
    meeting { id status startsAt service { id title } }
  }
`);

export const CONVERSATIONS = graphql(`
  query Conversations {
    conversations(first: 50) {
      id
      participants { id displayName }
    }
  }
`);

export const CONVERSATION = graphql(`
  query Conversation($id: ID!, $after: String) {
    conversation(id: $id) {
      id
      participants { id displayName }
      messages(first: 30, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { cursor node { ...MessageFields } }
      }
    }
  }
`);

export const START_CONVERSATION = graphql(`
  mutation StartConversation($withAccountId: ID!) {
    startConversation(withAccountId: $withAccountId) {
      conversation { id participants { id displayName } }
      errors { code message field }
    }
  }
`);

export const SEND_MESSAGE = graphql(`
  mutation SendMessage($conversationId: ID!, $body: String!) {
    sendMessage(conversationId: $conversationId, body: $body) {
      message { ...MessageFields }
      errors { code message field }
    }
  }
`);

export const MESSAGE_ADDED = graphql(`
  subscription MessageAdded($conversationId: ID!) {
    messageAdded(conversationId: $conversationId) { ...MessageFields }
  }
`);

export const NOTIFICATION_FIELDS = graphql(`
  fragment NotificationFields on Notification {
    id
    kind
    title
    body
    createdAt
    readAt
    meeting { id }
  }
`);

export const NOTIFICATIONS = graphql(`
  query Notifications($after: String) {
    notifications(first: 20, after: $after) {
      unreadCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { ...NotificationFields } }
    }
  }
`);

export const NOTIFICATION_RECEIVED = graphql(`
  subscription NotificationReceived {
    notificationReceived { ...NotificationFields }
  }
`);

export const MARK_READ = graphql(`
  mutation MarkNotificationsRead($ids: [ID!]) {
    markNotificationsRead(ids: $ids) {
      unreadCount
      notifications { id readAt }
      errors { code message field }
    }
  }
`);
